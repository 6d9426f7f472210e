export type { ProgressLog, StackComponent } from './component';
export { provisionProjectResources, projectProvisioners, type ProjectProvisioner } from './provision';
export {
  APICURIO_VERSION,
  DEFAULT_PORTS,
  KAFKA_VERSION,
  STACK_ENV_VARS,
  stackAddresses,
  stackSettingsFromEnv,
  type StackAddresses,
  type StackPorts,
  type StackSettings,
} from './settings';
export { stackComponents, stackDown, stackStatus, stackUp, type ComponentStatus, type DownResult, type UpResult } from './stack';
export { StackError } from './stack-error';
export { ensureScramUser, kafkaComponent } from './components/kafka';
export { ensureKafkaTlsMaterial, kafkaTlsCaFile, makeCertificateAuthority } from './components/kafka-tls';
