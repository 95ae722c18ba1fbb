// The one place that reads the process environment; everything else receives it as a parameter.

/** The process environment, handed to `loadConfig` and to child processes by the composition root. */
export function processEnvironment(): NodeJS.ProcessEnv {
  return process.env;
}
