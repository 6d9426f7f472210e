import { DynamicModule, Global, Module } from '@nestjs/common';
import { DgConfig, loadConfig } from './config';

/** Injection token of the typed config: `constructor(@Inject(DG_CONFIG) config: DgConfig)`. */
export const DG_CONFIG = Symbol('DG_CONFIG');

/**
 * Provides the config parsed once at boot to every module. The CLI parses it (so errors stop the
 * process before Nest starts) and passes it in; `forRoot()` without an argument parses the env.
 */
@Global()
@Module({})
export class DgConfigModule {
  static forRoot(config: DgConfig = loadConfig()): DynamicModule {
    return {
      module: DgConfigModule,
      providers: [{ provide: DG_CONFIG, useValue: config }],
      exports: [DG_CONFIG],
    };
  }
}
