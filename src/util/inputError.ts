/**
 * A file the user gave holds what cannot be used (a certificate that is no PEM, a template that
 * is no webhook configuration): bad input, said in words, with the file named in the message.
 */
export class InputError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'InputError';
  }
}
