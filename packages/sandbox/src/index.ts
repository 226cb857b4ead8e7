export { MotoNotFoundError, type MotoServer, type StartMotoOptions, startMoto, stopProcess } from './moto.js';
