import { Module } from '@nestjs/common';
import { DG_CONFIG, type DgConfig } from '../core/config';
import { ImageUrlResolver, imageUrlResolverFromConfig, QUESTIONER_MODEL, questionerModelClient } from '../role-runtime';
import { QuestionerService } from './questioner.service';

@Module({
  providers: [
    QuestionerService,
    { provide: ImageUrlResolver, inject: [DG_CONFIG], useFactory: (config: DgConfig) => imageUrlResolverFromConfig(config.images) },
    { provide: QUESTIONER_MODEL, inject: [DG_CONFIG], useFactory: (config: DgConfig) => questionerModelClient(config) },
  ],
})
export class QuestionerModule {}
