/**
 * An error in a template, raised by the lexer, the parser, the evaluator or a function. `line` is
 * the 1-based line of the action at fault; a function that does not know it leaves it 0 and the
 * evaluator fills it in. `renderTemplate` turns it into a UserError "file:line: message".
 */
export class TemplateError extends Error {
  override name = 'TemplateError';
  constructor(
    message: string,
    public line = 0,
  ) {
    super(message);
  }
}
