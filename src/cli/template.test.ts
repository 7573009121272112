import { test } from 'node:test';
import assert from 'node:assert/strict';
import { render, MARSHAL, TemplateError } from './template.ts';
import { formatRows, prepareFormat, rowContext } from './table.ts';

const doc = {
  Name: '/web',
  State: { Status: 'running', ExitCode: 0, Running: true },
  Config: { Cmd: ['sleep', '1000'], Labels: { b: '2', a: '1' }, Env: null, Empty: {} },
  Size: 1.5,
};

test('fields, json, maps and slices print like Go', () => {
  assert.equal(render('{{.State.Status}} {{json .Config.Cmd}}', doc), 'running ["sleep","1000"]');
  assert.equal(
    render('{{.Config.Labels}} {{.Config.Cmd}} {{.Config.Env}} {{.Missing}}', doc),
    'map[a:1 b:2] [sleep 1000] <nil> <no value>',
  );
  assert.equal(render('{{.State.Running}} {{.State.ExitCode}} {{.Size}}', doc), 'true 0 1.5');
  assert.equal(render('{{json .Config.Labels}}', doc), '{"b":"2","a":"1"}');
  assert.equal(render('{{json .}}', { a: '<x>' }), '{"a":"<x>"}');
});

test('functions, pipelines, variables and control flow', () => {
  assert.equal(
    render('{{index .Config.Labels "a"}} {{.Name | upper}} {{len .Config.Cmd}} {{printf "%s-%d" .Name 3}}', doc),
    '1 /WEB 2 /web-3',
  );
  assert.equal(render('{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}', doc), 'a=1;b=2;');
  assert.equal(
    render('{{range .Config.Cmd}}[{{.}}]{{else}}none{{end}}|{{range .Config.Empty}}x{{else}}none{{end}}', doc),
    '[sleep][1000]|none',
  );
  assert.equal(render('{{if eq .State.Status "running"}}up{{else if .State.Running}}?{{else}}down{{end}}', doc), 'up');
  assert.equal(render('{{with .State}}{{.Status}}{{end}}{{with .Missing}}x{{else}}-{{end}}', doc), 'running-');
  assert.equal(
    render(
      '{{$n := .Name}}{{$n}}{{join .Config.Cmd ","}} {{split "a:b" ":"}} {{lower "AB"}} {{title "hello world"}}',
      doc,
    ),
    '/websleep,1000 [a b] ab Hello World',
  );
  assert.equal(render('{{if and .State.Running (not .Missing)}}ok{{end}} {{or .Missing "dflt"}}', doc), 'ok dflt');
  assert.equal(render('{{pad .Name 1 2}}|{{truncate .Name 2}}|{{println "x"}}', doc), ' /web  |/w|x\n');
});

test('trim markers and comments', () => {
  assert.equal(render('a  {{- .Name -}}  b{{/* c */}}', doc), 'a/webb');
  assert.equal(render('{{- range .Config.Cmd -}}\n  {{.}}\n{{- end}}', doc), 'sleep1000');
});

test('errors: unknown functions and unclosed actions', () => {
  assert.throws(() => render('{{nosuch .Name}}', doc), TemplateError);
  assert.throws(() => render('{{.Name', doc), TemplateError);
  assert.throws(() => render('{{if .Name}}x', doc), TemplateError);
});

test('methods with arguments on row contexts, and MARSHAL for {{json .}}', () => {
  const row = rowContext({ ID: 'abc', Label: (k: string) => (k === 'x' ? 'y' : '') }, () => ({
    ID: 'abc',
    Z: '<',
    A: 1,
  }));
  assert.equal(render('{{.ID}} {{.Label "x"}}', row), 'abc y');
  assert.equal(render('{{json .}}', row), '{"A":1,"ID":"abc","Z":"\\u003c"}');
  assert.equal(typeof (row as Record<symbol, unknown>)[MARSHAL], 'function');
});

test('docker formats: table headers, plain rows, json', () => {
  assert.deepEqual(prepareFormat('table {{.ID}}\\t{{.Names}}'), {
    table: true,
    json: false,
    template: '{{.ID}}\t{{.Names}}',
  });
  const rows = [rowContext({ ID: '1395ddd249d9', Names: 'web2' }, () => ({ ID: '1395ddd249d9', Names: 'web2' }))];
  const headers = { ID: 'CONTAINER ID', Names: 'NAMES' };
  assert.equal(
    formatRows(rows, { format: 'table {{.ID}}\\t{{.Names}}', defaultTable: '', headers }),
    'CONTAINER ID   NAMES\n1395ddd249d9   web2\n',
  );
  assert.equal(formatRows(rows, { format: '{{.ID}}\\t{{.Names}}', defaultTable: '', headers }), '1395ddd249d9\tweb2\n');
  assert.equal(
    formatRows(rows, { format: 'json', defaultTable: '', headers }),
    '{"ID":"1395ddd249d9","Names":"web2"}\n',
  );
  assert.equal(
    formatRows([], { format: '', defaultTable: 'table {{.ID}}\t{{.Names}}', headers }),
    'CONTAINER ID   NAMES\n',
  );
  assert.equal(
    formatRows(rows, { format: '', defaultTable: 'table {{.ID}}', headers, quiet: '{{.ID}}', isQuiet: true }),
    '1395ddd249d9\n',
  );
  assert.equal(formatRows(rows, { format: 'table {{.Names | upper}}', defaultTable: '', headers }), 'NAMES\nWEB2\n');
});
