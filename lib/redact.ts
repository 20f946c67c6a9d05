/**
 * Credentials never reach a log line, an error message or CLI output: the password of a URL
 * (`redis://user:secret@host`, or a mistyped `http://user:secret@host`) becomes `***`, wherever
 * it appears in a text.
 */
export function redact(text: string): string {
  return text.replace(/([a-z][a-z\d+.-]*:\/\/[^:/@\s]*:)[^@\s]*@/gi, '$1***@');
}

// ioredis attaches the command to a reply error; these carry credentials in their arguments
const SECRET_COMMANDS = new Set(['auth', 'hello', 'acl', 'config', 'migrate']);

/**
 * Removes credentials from an error brokkr passes on as a `cause`: ioredis puts the failed
 * command on its errors (`HELLO 3 AUTH user password` when the password is wrong), which
 * util.inspect and most loggers print.
 */
export function scrubSecrets<T>(err: T): T {
  const command = (err as { command?: { name?: unknown; args?: unknown } } | null)?.command;
  if (command && typeof command.name === 'string' && SECRET_COMMANDS.has(command.name.toLowerCase())) {
    command.args = ['***'];
  }
  return err;
}
