/** brokkr's version, as supervisors report it in the registry (a test keeps it equal to package.json's). */
export const VERSION = '0.1.0';
