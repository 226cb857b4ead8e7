export { fromInstanceMetadata } from '@smithy/credential-provider-imds';
