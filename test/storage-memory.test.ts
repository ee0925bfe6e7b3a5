import { storageConformance } from './storage-conformance.js';
import { MemoryEngine } from '../src/storage/memory/memory-engine.js';

storageConformance('memory engine', async () => new MemoryEngine());
