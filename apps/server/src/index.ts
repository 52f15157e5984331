export { buildServer, startServer, type BuiltServer, type RunningServer } from './app.ts';
export { defaultConfig, type ServerConfig } from './config.ts';
export { frankingTag, FRANKING_TAG_LABEL } from './plugins/groups.ts';
export { LawfulAccess, lawfulAccessConfigFile, type LawfulAccessConfig } from './lawfulAccess.ts';
