import { Module } from '@nestjs/common';
import { RefereeService } from './referee.service';

@Module({ providers: [RefereeService] })
export class RefereeModule {}
