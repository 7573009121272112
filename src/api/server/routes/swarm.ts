/**
 * What Docker has and Berth does not — swarm mode and plugins — answered the way a Docker
 * daemon answers when it has none of them, so that clients show their usual messages
 * (`docker node ls`: "This node is not a swarm manager...", `docker plugin ls`: an empty
 * list) instead of "page not found".
 */
import type { Router, Handler } from '../router.ts';
import { notFound, notImplemented, unavailable } from '../../../errdefs/index.ts';

const NOT_A_MANAGER =
  'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';

export function registerSwarm(r: Router): void {
  const notManager: Handler = () => {
    throw unavailable(NOT_A_MANAGER);
  };
  const noSwarmMode: Handler = () => {
    throw notImplemented(
      'swarm mode is not supported by Berth: docker-compose runs multi-container applications on one host',
    );
  };
  r.get('/swarm', notManager);
  r.post('/swarm/init', noSwarmMode);
  r.post('/swarm/join', noSwarmMode);
  r.post('/swarm/leave', () => {
    throw unavailable('This node is not part of a swarm');
  });
  r.post('/swarm/update', notManager);
  r.get('/swarm/unlockkey', notManager);
  r.post('/swarm/unlock', notManager);
  for (const kind of ['nodes', 'services', 'tasks', 'secrets', 'configs']) {
    r.get(`/${kind}`, notManager);
    r.get(`/${kind}/{id}`, notManager);
    r.delete(`/${kind}/{id}`, notManager);
    r.post(`/${kind}/create`, notManager);
    r.post(`/${kind}/{id}/update`, notManager);
  }
  r.get('/services/{id}/logs', notManager);
  r.get('/tasks/{id}/logs', notManager);
}

export function registerPlugins(r: Router): void {
  const noPlugins: Handler = () => {
    throw notImplemented('plugins are not supported by Berth: volumes and networks use its built-in drivers');
  };
  r.get('/plugins', (_req, res) => res.json(200, []));
  r.get('/plugins/privileges', noPlugins);
  r.post('/plugins/pull', noPlugins);
  r.post('/plugins/create', noPlugins);
  // A plugin by name: there is none.
  const missing: Handler = (req) => {
    const name = req.params.name!.replace(/\/(json|enable|disable|push|set|upgrade)$/, '');
    throw notFound(`plugin "${name}" not found`);
  };
  r.get('/plugins/{name*}', missing);
  r.post('/plugins/{name*}', missing);
  r.delete('/plugins/{name*}', missing);
}
