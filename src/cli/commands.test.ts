import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GROUPS, TOP, allCommands, findCommand } from './commands.ts';

test('each command table lists exactly the names its module has, in its order', async () => {
  for (const s of new Set([...TOP, ...Object.values(GROUPS).flatMap((g) => g.sources)]))
    assert.deepEqual(Object.keys(await s.load()), s.names);
});

test('the top-level commands are those of the container, image, build, system, dashboard and inspect modules', async () => {
  const { containerShortcuts } = await import('./containers.ts');
  const { imageShortcuts } = await import('./images.ts');
  const { buildCommands } = await import('./build.ts');
  const { systemCommands } = await import('./system.ts');
  const { dashboardCommands } = await import('./dashboard.ts');
  const { inspect } = await import('./inspect.ts');
  const expected = {
    ...containerShortcuts,
    ...imageShortcuts,
    ...buildCommands,
    ...systemCommands,
    ...dashboardCommands,
    inspect,
  };
  assert.deepEqual(await allCommands(TOP), expected);
  for (const [name, cmd] of Object.entries(expected)) assert.equal(await findCommand(TOP, name), cmd, name);
});

test('a group finds each of its commands, and nothing for a name it does not have', async () => {
  const { containerGroup } = await import('./containers.ts');
  for (const [name, cmd] of Object.entries(containerGroup))
    assert.equal(await findCommand(GROUPS.container!.sources, name), cmd, name);
  assert.equal(await findCommand(GROUPS.pod!.sources, 'create'), (await import('./pods.ts')).podGroup.create);
  assert.equal(await findCommand(GROUPS.pod!.sources, 'nope'), undefined);
  assert.equal(await findCommand(GROUPS.pod!.sources, 'constructor'), undefined);
});
