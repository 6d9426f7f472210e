import { Module } from '@nestjs/common';
import { DG_CONFIG, type DgConfig } from '../core/config';
import { ANSWERER_MODEL, answererModelClient, ImageUrlResolver, imageUrlResolverFromConfig } from '../role-runtime';
import { AnswererService } from './answerer.service';

@Module({
  providers: [
    AnswererService,
    { provide: ImageUrlResolver, inject: [DG_CONFIG], useFactory: (config: DgConfig) => imageUrlResolverFromConfig(config.images) },
    { provide: ANSWERER_MODEL, inject: [DG_CONFIG], useFactory: (config: DgConfig) => answererModelClient(config) },
  ],
})
export class AnswererModule {}
