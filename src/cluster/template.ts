import { UserError } from '../errors.js';

const ACTION = /\{\{(-?)\s*(.*?)\s*(-?)\}\}/gs;

/**
 * Renders a `*.tmpl` file the way sealer's Go text/template use needs: `{{ .Name }}`,
 * `{{ .Name | b64enc }}`, `{{ b64dec .Name }}`, with `{{-`/`-}}` trimming. An unknown variable
 * or action is an error naming the file and line (Go would print `<no value>`).
 */
export function renderTemplate(text: string, env: Readonly<Record<string, string>>, file: string): string {
  let out = '';
  let last = 0;
  for (const m of text.matchAll(ACTION)) {
    const index = m.index ?? 0;
    let before = text.slice(last, index);
    if (m[1] === '-') before = before.replace(/\s+$/, '');
    out += before;
    out += evaluate(m[2] ?? '', env, () => `${file}:${text.slice(0, index).split('\n').length}`);
    last = index + m[0].length;
    if (m[3] === '-') {
      const rest = /^\s*/.exec(text.slice(last));
      last += rest?.[0].length ?? 0;
    }
  }
  return out + text.slice(last);
}

function evaluate(expr: string, env: Readonly<Record<string, string>>, where: () => string): string {
  const stages = expr.split('|').map((s) => s.trim());
  let value: string | undefined;
  for (const [i, stage] of stages.entries()) {
    const words = stage.split(/\s+/).filter((w) => w !== '');
    const fn = words[0];
    if (i === 0 && words.length === 1 && fn?.startsWith('.')) {
      value = lookup(fn, env, where);
      continue;
    }
    if (fn !== 'b64enc' && fn !== 'b64dec') throw new UserError(`${where()}: unsupported template action {{ ${expr} }}`);
    const arg = i === 0 ? words[1] : undefined;
    const input = i === 0 ? (arg?.startsWith('.') ? lookup(arg, env, where) : undefined) : value;
    if (input === undefined || words.length > (i === 0 ? 2 : 1)) {
      throw new UserError(`${where()}: unsupported template action {{ ${expr} }}`);
    }
    value = fn === 'b64enc' ? Buffer.from(input, 'utf8').toString('base64') : Buffer.from(input, 'base64').toString('utf8');
  }
  return value ?? '';
}

function lookup(ref: string, env: Readonly<Record<string, string>>, where: () => string): string {
  const name = ref.slice(1);
  const v = Object.hasOwn(env, name) ? env[name] : undefined;
  if (v === undefined) throw new UserError(`${where()}: template variable ${name} is not set (pass it with -e ${name}=...)`);
  return v;
}
