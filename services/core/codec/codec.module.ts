import { Global, Module } from '@nestjs/common';
import type { DgConfig } from '../config/config';
import { DG_CONFIG } from '../config/config.module';
import { EventCodec } from './event-codec';

/** Provides one EventCodec (class token) built from DG_CONFIG; needs DgConfigModule.forRoot(). */
@Global()
@Module({
  providers: [{ provide: EventCodec, useFactory: (config: DgConfig) => EventCodec.fromConfig(config), inject: [DG_CONFIG] }],
  exports: [EventCodec],
})
export class EventCodecModule {}
