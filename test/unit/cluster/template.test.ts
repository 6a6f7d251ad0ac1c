import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderTemplate } from '../../../src/cluster/template.js';

const ENV = { A: 'x y', B: 'aGk=', foo: 'bar', IPS: 'a;b;c', EMPTY: '', PodCIDR: '100.64.0.0/10', SvcCIDR: '10.96.0.0/16' };
const render = (text: string, env: Record<string, string> = ENV) => renderTemplate(text, env, 'etc/t.yaml.tmpl');

/** Each row: template, expected output (what Go's text/template with sprig prints). */
function golden(rows: readonly (readonly [string, string])[]): void {
  for (const [tmpl, want] of rows) assert.equal(render(tmpl), want, tmpl);
}

test("sealer's own template cases render as sealer renders them", () => {
  // The case from the issue: a string literal argument.
  assert.equal(render('{{b64enc "qwertyuiop"}}'), 'cXdlcnR5dWlvcA==');
  assert.equal(render('{{b64dec "cXdlcnR5dWlvcA=="}}'), 'qwertyuiop');
  // sealer pkg/env/test/template/test.yaml.tmpl, rendered with foo=bar (pkg/env/README.md).
  assert.equal(render('{{ .foo }}'), 'bar');
  // sealer pkg/env/test/template/kubeadm.yaml.tmpl with the data of Test_processor_RenderAll.
  const kubeadm = [
    'apiVersion: kubeadm.k8s.io/v1beta3',
    'kind: ClusterConfiguration',
    'kubernetesVersion: v1.19.8',
    'controlPlaneEndpoint: "apiserver.cluster.local:6443"',
    'imageRepository: sea.hub:5000/library',
    'networking:',
    '  podSubnet: {{ .PodCIDR }}',
    '  serviceSubnet: {{ .SvcCIDR }}',
  ].join('\n');
  assert.equal(
    renderTemplate(kubeadm, { PodCIDR: '100.64.0.0/10', SvcCIDR: '10.96.0.0/16' }, 'etc/kubeadm.yaml.tmpl'),
    kubeadm.replace('{{ .PodCIDR }}', '100.64.0.0/10').replace('{{ .SvcCIDR }}', '10.96.0.0/16'),
  );
  // The b64enc/b64dec funcs sealer registers, piped and called.
  assert.equal(render('{{ .A | b64enc }} {{ b64enc .A | b64dec }}'), 'eCB5 x y');
});

test('literals: strings with Go escapes, raw strings, numbers, chars, bools, nil', () => {
  golden([
    ['{{ "a\\tb\\n\\\\\\"" }}', 'a\tb\n\\"'],
    ['{{ "\\x41\\u00e9\\101\\U0001F600" }}', 'AéA😀'],
    ['{{ "\\xe4\\xbd\\xa0" }}', '你'],
    ['{{ `raw\\n "q" {{` }}', 'raw\\n "q" {{'],
    ['{{ `two\r\nlines` }}', 'two\nlines'],
    ['{{ 42 }} {{ -7 }} {{ +3 }} {{ 0x1F }} {{ 0o17 }} {{ 017 }} {{ 0b101 }} {{ 1_000 }}', '42 -7 3 31 15 15 5 1000'],
    ['{{ 1.5 }} {{ 1.0 }} {{ 1e3 }} {{ .25 }} {{ 2.5e-7 }}', '1.5 1 1000 0.25 2.5e-07'],
    ["{{ 'a' }} {{ '\\n' }}", '97 10'],
    ['{{ true }} {{ false }} {{ print nil }}', 'true false <nil>'],
  ]);
});

test('variables: declare, assign, $, and scoping to the enclosing block', () => {
  golden([
    ['{{ $x := "v" }}{{ $x }}{{ $x = "w" }}{{ $x }}', 'vw'],
    ['{{ $.foo }} {{ $ }}', `bar map[A:x y B:aGk= EMPTY: IPS:a;b;c PodCIDR:100.64.0.0/10 SvcCIDR:10.96.0.0/16 foo:bar]`],
    ['{{ $x := 1 }}{{ if true }}{{ $x := 2 }}{{ $x }}{{ end }}{{ $x }}', '21'],
    ['{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}', '2'],
    ['{{ $s := "" }}{{ range list "a" "b" "c" }}{{ $s = print $s . }}{{ end }}{{ $s }}', 'abc'],
    ['{{ if $v := .foo }}{{ $v }}{{ else }}none{{ end }}', 'bar'],
  ]);
});

test('fields: env names, chains on maps, on variables and on parenthesised pipelines', () => {
  golden([
    ['{{ .A }}|{{ .EMPTY }}|', 'x y||'],
    ['{{ $d := dict "a" (dict "b" "deep") }}{{ $d.a.b }}', 'deep'],
    ['{{ (dict "k" "v").k }}', 'v'],
    ['{{ with dict "n" (dict "m" 1) }}{{ .n.m }}{{ end }}', '1'],
  ]);
});

test('if / else if / else, with / else with / else, and Go truth', () => {
  golden([
    ['{{ if eq .A "x y" }}yes{{ else }}no{{ end }}', 'yes'],
    ['{{ if .EMPTY }}1{{ else if .NOPE }}2{{ else if .foo }}3{{ else }}4{{ end }}', '3'],
    ['{{ if 0 }}a{{ end }}{{ if list }}b{{ end }}{{ if dict }}c{{ end }}{{ if "0" }}d{{ end }}{{ if false }}e{{ end }}', 'd'],
    ['{{ with .foo }}<{{ . }}>{{ end }}', '<bar>'],
    ['{{ with .NOPE }}has{{ else with .foo }}{{ . }}!{{ else }}none{{ end }}', 'bar!'],
    ['{{ with .NOPE }}has{{ else }}none{{ end }}', 'none'],
  ]);
});

test('range: lists, maps in key order, ints, $i/$v, else, break and continue', () => {
  golden([
    ['{{ range splitList ";" .IPS }}[{{ . }}]{{ end }}', '[a][b][c]'],
    ['{{ range $i, $v := list "a" "b" }}{{ $i }}={{ $v }},{{ end }}', '0=a,1=b,'],
    ['{{ range $v := list "a" "b" }}{{ $v }}{{ end }}', 'ab'],
    ['{{ range $k, $v := dict "z" 1 "a" 2 "m" 3 }}{{ $k }}{{ $v }}{{ end }}', 'a2m3z1'],
    ['{{ range split "," "x,y,z" }}{{ . }}{{ end }}', 'xyz'],
    ['{{ range 3 }}{{ . }}{{ end }}', '012'],
    ['{{ range list }}x{{ else }}empty{{ end }}{{ range .NOPE }}y{{ else }}none{{ end }}', 'emptynone'],
    ['{{ range $i, $e := until 6 }}{{ if eq $i 1 }}{{ continue }}{{ end }}{{ if eq $i 4 }}{{ break }}{{ end }}{{ $e }}{{ end }}', '023'],
    ['{{ range list 1 2 }}{{ range list "a" "b" }}{{ if eq . "b" }}{{ break }}{{ end }}{{ . }}{{ end }}{{ . }}{{ end }}', 'a1a2'],
    ['{{ $i := 9 }}{{ range $i = list 5 6 }}{{ end }}{{ $i }}', '6'],
    ['{{ range $x := list }}a{{ else }}[{{ $x }}]{{ end }}', '[[]]'],
  ]);
});

test('define, template and block', () => {
  golden([
    ['{{ define "t" }}[{{ . }}]{{ end }}{{ template "t" .foo }}{{ template "t" "x" }}', '[bar][x]'],
    ['{{ define "c" }}const{{ end }}{{ template "c" }}', 'const'],
    ['{{ block "b" "z" }}<{{ . }}>{{ end }}', '<z>'],
    ['{{ define "inner" }}{{ $.k }}{{ end }}{{ define "outer" }}{{ template "inner" . }}!{{ end }}{{ template "outer" (dict "k" "v") }}', 'v!'],
    // A template calling itself, bounded by its own condition.
    ['{{ define "down" }}{{ . }}{{ if gt . 0 }}{{ template "down" (index (list 0 0 1 2) .) }}{{ end }}{{ end }}{{ template "down" 3 }}', '3210'],
  ]);
});

test('comments and trim markers', () => {
  golden([
    ['a{{/* a comment */}}b', 'ab'],
    ['a {{- /* trimmed */ -}} \n b', 'ab'],
    ['{{/* multi\nline */}}x', 'x'],
    ['x  {{- .foo -}}  \n y', 'xbary'],
    ['x \n {{- .foo }} \n', 'xbar \n'],
    ['{{ .foo -}}\n\t  y', 'bary'],
    ['{{- 3}}', '3'],
    ['{{ -3 }}', '-3'],
  ]);
});

test('pipelines: chains, the piped value last, parentheses', () => {
  golden([
    ['{{ "a" | printf "%s-%s" "b" }}', 'b-a'],
    ['{{ .foo | upper | printf "<%s>" }}', '<BAR>'],
    ['{{ printf "%s/%s" (.foo | upper) (lower "X") }}', 'BAR/x'],
    ['{{ ((1)) }}', '1'],
    ['{{ (list 1 2) | len }}', '2'],
  ]);
});

test("Go's builtin functions", () => {
  golden([
    ['{{ and 1 0 2 }} {{ and 1 2 }} {{ or 0 "" "x" }} {{ or 0 false }}', '0 2 x false'],
    ['{{ or 1 (fail "never evaluated") }} {{ and 0 (fail "never") }}', '1 0'],
    ['{{ not "" }} {{ not 1 }}', 'true false'],
    ['{{ len "héllo" }} {{ len (list 1 2 3) }} {{ len (dict "a" 1) }}', '6 3 1'],
    ['{{ index (list "a" "b") 1 }} {{ index (dict "k" "v") "k" }} {{ index (list (list 1 2)) 0 1 }} {{ index "AB" 1 }} {{ index (dict) "x" }}', 'b v 2 66 <nil>'],
    ['{{ eq 2 1 2 }} {{ eq "a" "b" }} {{ eq .NOPE "x" }} {{ ne 1 2 }}', 'true false false true'],
    ['{{ lt "a" "b" }} {{ le 2 2 }} {{ gt 2.5 1.5 }} {{ ge "b" "c" }}', 'true true true false'],
    ['{{ print 1 2 "a" "b" 3 }}|{{ println "x" 1 }}|{{ print }}|', '1 2ab3|x 1\n||'],
    [
      '{{ printf "%s|%d|%q|%v|%5.2f|%-4s|%03d|%t|%x|%X|%o|%b|%c|%e|%%" "s" 42 "q\\"" (list 1 "a") 3.14159 "ab" 7 true 255 "hi" 8 5 65 1234.5 }}',
      's|42|"q\\""|[1 a]| 3.14|ab  |007|true|ff|6869|10|101|A|1.234500e+03|%',
    ],
    ['{{ printf "%v %v %v" (dict "b" 1 "a" (list true nil)) 2.5 -1 }}', 'map[a:[true <nil>] b:1] 2.5 -1'],
    ['{{ html "<a href=\'x\'>&\\"" }}', '&lt;a href=&#39;x&#39;&gt;&amp;&#34;'],
    ['{{ js "a\'b\\"<>&=\\\\\\n" }}', 'a\\\'b\\"\\u003C\\u003E\\u0026\\u003D\\\\\\u000A'],
    ['{{ urlquery "a b&c=d/é~" }} {{ urlquery 1 2 }}', 'a+b%26c%3Dd%2F%C3%A9~ 1+2'],
  ]);
});

test('sprig functions sealer templates use', () => {
  golden([
    ['{{ b64enc "" }}|{{ b64dec "aGk=" }}|{{ .B | b64dec }}', '|hi|hi'],
    ['{{ .NOPE | default "d" }} {{ default "d" .foo }} {{ default "d" .EMPTY }} {{ default "d" }} {{ 0 | default 5 }}', 'd bar d d 5'],
    ['{{ quote "a\\"b" 5 nil }} {{ squote "x" "y" }} {{ quote "tab\\there" }}', '"a\\"b" "5" \'x\' \'y\' "tab\\there"'],
    ['{{ upper "abc" }} {{ lower "ABC" }} {{ trim " \\t x \\n" }}', 'ABC abc x'],
    ['{{ trimPrefix "a" "abc" }} {{ trimSuffix "c" "abc" }} {{ trimPrefix "z" "abc" }}', 'bc ab abc'],
    ['{{ replace "a" "$&" "banana" }} {{ replace "" "-" "ab" }} {{ "a.b.c" | replace "." "/" }}', 'b$&n$&n$& -a-b- a/b/c'],
    ['{{ contains "an" "banana" }} {{ hasPrefix "ba" "banana" }} {{ hasSuffix "x" "banana" }}', 'true true false'],
    ['{{ (split ":" "k:v")._1 }} {{ splitList "," "a,,b" | len }} {{ split "" "aé" }}', 'v 3 map[_0:a _1:é]'],
    ['{{ join "," (list "a" "b" 3 nil) }} {{ join "-" "single" }} {{ splitList ";" .IPS | join "+" }}', 'a,b,3 single a+b+c'],
    ['{{ list 1 "a" (list) }} {{ dict "k" "v" "odd" }}', '[1 a []] map[k:v odd:]'],
    ['{{ toJson (dict "b" 1 "a" (list "x" nil 1.5 true) "c" "<&>" "d" .NOPE) }}', '{"a":["x",null,1.5,true],"b":1,"c":"\\u003c\\u0026\\u003e","d":null}'],
    ['k:{{ "a\\nb" | indent 2 }}|{{ "a\\nb" | nindent 4 }}', 'k:  a\n  b|\n    a\n    b'],
    ['{{ empty "" }} {{ empty .NOPE }} {{ empty (list) }} {{ empty 0 }} {{ empty "x" }}', 'true true true true false'],
    ['{{ coalesce "" .NOPE "c" "d" }} {{ coalesce "" 0 | print }}', 'c <nil>'],
    ['{{ ternary "y" "n" true }} {{ ternary "y" "n" (eq 1 2) }}', 'y n'],
    ['{{ until 3 }} {{ until -2 }} {{ toString 5 }} {{ repeat 3 "ab" }}', '[0 1 2] [0 -1] 5 ababab'],
    ['{{ hasKey (dict "a" 1) "a" }} {{ keys (dict "b" 1 "a" 2) }}', 'true [a b]'],
  ]);
});

test('text without actions, and an empty template, come back unchanged', () => {
  assert.equal(render(''), '');
  assert.equal(render('plain { text } with } braces {'), 'plain { text } with } braces {');
  assert.equal(render('a {{ "{{" }} b }}'), 'a {{ b }}');
});
