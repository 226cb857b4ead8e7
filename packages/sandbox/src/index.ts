export { MotoNotFoundError, type MotoServer, type StartMotoOptions, startMoto, stopProcess } from './moto.js';
export { type Sshd, SshdNotFoundError, type StartSshdOptions, startSshd } from './sshd.js';
