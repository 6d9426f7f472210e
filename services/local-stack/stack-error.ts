import { NonRetriableError, type DgErrorOptions } from '../core/errors';

/** The local stack cannot be installed, started or stopped as asked; retrying the command will not help by itself. */
export class StackError extends NonRetriableError {
  constructor(message: string, options: DgErrorOptions = {}) {
    super(message, { code: 'STACK', ...options });
  }
}
