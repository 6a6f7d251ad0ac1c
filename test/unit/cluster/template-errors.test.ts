import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderTemplate } from '../../../src/cluster/template.js';
import { LIMITS } from '../../../src/cluster/template/limits.js';
import { UserError } from '../../../src/errors.js';

const FILE = 'etc/foo.yaml.tmpl';
const ENV = { A: 'x y', foo: 'bar' };

/** Asserts that rendering fails with a UserError whose message matches, and returns the time it took. */
function fails(text: string, message: RegExp): number {
  const start = performance.now();
  assert.throws(
    () => renderTemplate(text, ENV, FILE),
    (e: unknown) => {
      assert.ok(e instanceof UserError, `a UserError, got ${String(e)}`);
      assert.match(e.message, message);
      return true;
    },
    text.slice(0, 80),
  );
  return performance.now() - start;
}

test('unknown syntax and functions are UserErrors naming file and line', () => {
  fails('a: 1\nb: 2\nc: {{ toYaml .A }}', /^etc\/foo\.yaml\.tmpl:3: unsupported template action \{\{ toYaml \.A \}\}: function "toYaml" not defined$/);
  fails('{{ env "HOME" }}', /:1: .*function "env" not defined/); // sprig's env/expandenv are not offered
  fails('x\n{{ .A | nope }}', /^etc\/foo\.yaml\.tmpl:2: .*function "nope" not defined/);
  fails('{{ "x" "y" }}', /:1: unsupported template action .*is not a function and takes no arguments/);
  fails('\n\n{{ $x }}', /:3: .*undefined variable "\$x"/);
  fails('{{ if true }}\n{{ $y := 1 }}\n{{ end }}{{ $y }}', /:3: .*undefined variable "\$y"/);
  fails('{{ end }}', /:1: .*unexpected \{\{end\}\}/);
  fails('{{ else }}', /:1: .*unexpected \{\{else\}\}/);
  fails('ok\n{{ range .A }}\nbody', /^etc\/foo\.yaml\.tmpl:2: unsupported template action \{\{ range \.A \}\}: it has no matching \{\{end\}\}$/);
  fails('{{ if 1 }}{{ else }}{{ else }}{{ end }}', /\{\{else\}\} after \{\{else\}\}/);
  fails('{{ break }}', /\{\{break\}\} outside \{\{range\}\}/);
  fails('{{ range list 1 }}{{ define "x" }}{{ end }}{{ end }}', /\{\{define\}\} is allowed only at the top level/);
  fails('{{ define "d" }}{{ end }}{{ define "d" }}{{ end }}', /template "d" is defined twice/);
  fails('{{ if }}{{ end }}', /missing value for command/);
  fails('{{ nil }}', /nil is not a command/);
  fails('{{ .A | "x" }}', /non-executable command in pipeline stage 2/);
  fails('{{ .A.b.c }}', /:1: can't evaluate field b in type string/);
  fails('{{ template "zz" }}', /:1: no such template "zz"/);
});

test('lexical errors name the line', () => {
  fails('\n{{ "abc }}', /:2: unterminated quoted string/);
  fails('{{ `abc }}', /:1: unterminated raw quoted string/);
  fails('line\n{{ .A', /:2: unclosed action/);
  fails('{{/* never closed', /:1: unclosed comment/);
  fails('{{/* c */ x }}', /comment ends before closing delimiter/);
  fails('{{ (1 }}', /unclosed left paren/);
  fails('{{ 1) }}', /unexpected right paren/);
  fails('{{ 09 }}', /bad number syntax: "09"/);
  fails('{{ 1__0 }}', /bad number syntax/);
  fails('{{ .A! }}', /bad character "!"/);
  fails('{{ "\\q" }}', /invalid escape \\q/);
  fails("{{ 'ab' }}", /malformed character constant/);
  fails('{{ # }}', /unrecognized character in action: "#"/);
  fails('{{ a := 1 }}', /function "a" not defined/);
});

test('a missing env key is an error naming it when printed or used as a string, and empty otherwise', () => {
  fails('ok\n{{ .MISSING }}', /^etc\/foo\.yaml\.tmpl:2: template variable MISSING is not set \(pass it with -e MISSING=\.\.\.\)$/);
  fails('{{ b64enc .MISSING }}', /:1: template variable MISSING is not set/);
  fails('{{ .MISSING | quote }}', /template variable MISSING is not set/);
  fails('{{ printf "%s" .MISSING }}', /template variable MISSING is not set/);
  fails('{{ $v := .MISSING }}\n{{ $v }}', /:2: template variable MISSING is not set/);
  fails('{{ .MISSING.sub }}', /template variable MISSING is not set/);
  fails('{{ (dict "a" 1).b }}', /map has no key "b"/);
  // Where Go treats it as nil: conditions, default, empty, eq, toJson.
  assert.equal(
    renderTemplate('{{ if .M }}a{{ end }}{{ with .M }}b{{ end }}{{ .M | default "d" }}{{ empty .M }}{{ eq .M "x" }}{{ toJson .M }}', ENV, FILE),
    'dtruefalsenull',
  );
});

test('function errors say which function failed, on which line', () => {
  fails('\n{{ "!!" | b64dec }}', /^etc\/foo\.yaml\.tmpl:2: error calling b64dec: illegal base64 data at input byte 0$/);
  fails('{{ b64dec "abc" }}', /error calling b64dec: illegal base64 data: wrong length or padding/);
  fails('{{ 1 | b64enc }}', /error calling b64enc: wrong type for value; expected string; got int/);
  fails('{{ b64enc }}', /wrong number of args for b64enc: want 1 got 0/);
  fails('{{ eq .A 1 }}', /error calling eq: incompatible types for comparison: string and int/);
  fails('{{ lt true false }}', /invalid type for comparison/);
  fails('{{ index (list 1) 5 }}', /error calling index: index out of range: 5/);
  fails('{{ len 3 }}', /error calling len: len of type int/);
  fails('{{ printf "%d" "x" }}', /error calling printf: %d cannot format string "x"/);
  fails('{{ printf "%s %s" "x" }}', /missing argument for %s/);
  fails('{{ printf "%s" "x" "y" }}', /1 argument\(s\) left over/);
  fails('{{ printf "%z" 1 }}', /unsupported verb %z/);
  fails('{{ ternary 1 2 "yes" }}', /expected bool/);
  fails('{{ fail "custom message" }}', /:1: error calling fail: custom message/);
  fails('{{ range .A }}{{ end }}', /range can't iterate over x y/);
  fails('{{ range $i, $v := 3 }}{{ end }}', /can't use 3 to iterate over more than one variable/);
});

test('limits: deep nesting ends quickly with the documented error', () => {
  const nest = (n: number) => `${'{{ if 1 }}'.repeat(n)}x${'{{ end }}'.repeat(n)}`;
  assert.equal(renderTemplate(nest(LIMITS.nesting - 1), {}, FILE), 'x');
  const times = [
    fails(nest(LIMITS.nesting + 1), /:1: unsupported template action \{\{ if 1 \}\}: blocks and parentheses nested more than 100 deep/),
    fails(nest(50_000), /nested more than 100 deep/),
    fails(`{{ ${'('.repeat(200_000)}1${')'.repeat(200_000)} }}`, /:1: parentheses nested more than 100 deep/),
    fails(nest(60).replace('x', `{{ ${'(print '.repeat(41)}1${')'.repeat(41)} }}`), /nested more than 100 deep/),
    // Recursion through templates: a template calling itself forever, and one whose every call
    // is also nested deep (stack depth = calls x nesting) stop at their caps, not at a stack overflow.
    fails('{{ define "a" }}{{ template "a" }}{{ end }}{{ template "a" }}', /:1: template calls nested more than 50 deep \(calling "a"\)/),
    fails(`{{ define "a" }}${nest(95).replace('x', '{{ template "a" (list (list (list 1))) }}')}{{ end }}{{ template "a" 1 }}`, /evaluation nested more than 500 deep/),
  ];
  for (const ms of times) assert.ok(ms < 5000, `took ${ms} ms`);
});

test('limits: huge output, huge strings and collections end quickly with the documented error', () => {
  const times = [
    fails('{{ range until 100000 }}{{ repeat 1000 "0123456789" }}{{ end }}', /:1: output larger than 67108864 bytes/),
    fails('{{ repeat 100000000 "x" }}', /error calling repeat: result longer than 67108864 characters/),
    fails('{{ indent 100000000 "x" }}', /error calling indent: result longer than 67108864 characters/),
    fails('{{ $s := repeat 40000000 "a" }}{{ print $s $s }}', /:1: print made a string longer than 67108864 characters/),
    // Doubling a string: the string cap or the work budget, whichever comes first.
    fails('{{ $s := "0123456789abcdef" }}{{ range until 30 }}{{ $s = print $s $s }}{{ end }}', /longer than 67108864 characters|more than 268435456 characters/),
    fails('{{ replace "" "xxxx" (repeat 20000000 "a") }}', /result longer than/),
    fails('{{ until 100000000 }}', /error calling until: until 100000000: more than 100000 items/),
    fails('{{ splitList "," (repeat 200000 "a,") }}', /splitting gives more than 100000 pieces/),
    fails('{{ split "" (repeat 200000 "a") }}', /splitting gives more than 100000 pieces/),
    // A list holding itself twice, 30 times over: small in memory, 2^30 elements when printed.
    fails('{{ $l := list 1 }}{{ range until 30 }}{{ $l = list $l $l }}{{ end }}{{ $l }}', /value has more than 1000000 elements/),
    fails('{{ $l := list 1 }}{{ range until 30 }}{{ $l = list $l $l }}{{ end }}{{ toJson $l }}', /value has more than 1000000 elements/),
    fails('{{ $d := dict }}{{ range until 500 }}{{ $d = dict "a" $d }}{{ end }}{{ toJson $d }}', /value nested more than 100 deep/),
  ];
  for (const ms of times) assert.ok(ms < 5000, `took ${ms} ms`);
});

test('limits: long loops end quickly with the documented error', () => {
  const times = [
    fails('line\n{{ range 1000000000 }}{{ end }}', /^etc\/foo\.yaml\.tmpl:2: evaluation took more than 1000000 steps/),
    fails('{{ range until 100000 }}{{ range until 100000 }}{{ end }}{{ end }}', /evaluation took more than 1000000 steps/),
    fails('{{ define "r" }}{{ range until 1000 }}{{ end }}{{ end }}{{ range until 100000 }}{{ template "r" }}{{ end }}', /evaluation took more than 1000000 steps/),
    // Few steps, each over a large string: the work budget stops it.
    fails('{{ $s := repeat 60000000 "a" }}{{ range until 100000 }}{{ $x := upper $s }}{{ end }}', /functions processed more than 268435456 characters/),
  ];
  for (const ms of times) assert.ok(ms < 5000, `took ${ms} ms`);
});
