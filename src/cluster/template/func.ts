import type { Value } from './value.js';

/** A function a template may call: its arity and its body. Bodies get the evaluated arguments. */
export interface TemplateFunc {
  min: number;
  max: number;
  call: (args: Value[]) => Value;
}

/** Declares a function taking `min` to `max` arguments. */
export function fn(min: number, max: number, call: (args: Value[]) => Value): TemplateFunc {
  return { min, max, call };
}
