import type { TestProject } from 'vitest/node';
import { startMoto } from '../src/moto.js';

declare module 'vitest' {
  export interface ProvidedContext {
    motoEndpoint: string;
  }
}

/** One moto_server per test project, on a free loopback port; tests read it with inject('motoEndpoint'). */
export default async function setup(project: TestProject) {
  const moto = await startMoto();
  project.provide('motoEndpoint', moto.endpoint);
  process.env.AWS_ENDPOINT_URL = moto.endpoint;
  return () => moto.stop();
}
