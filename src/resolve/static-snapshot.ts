// Resolve: a SnapshotSource over a fixed list of instances, for static configuration and tests.
import { EMPTY_KIND_POLICIES, NO_POLICIES, snapshotFromInstances, type Instance, type Snapshot, type SnapshotSource } from '../model/index.js';
import { SnapshotChannel } from './snapshot-channel.js';

export class StaticSnapshotSource implements SnapshotSource {
  private readonly channel: SnapshotChannel;

  constructor(instances: Iterable<Instance> = [], version = 0) {
    this.channel = new SnapshotChannel(snapshotFromInstances(version, instances));
  }

  current(): Snapshot {
    return this.channel.current();
  }

  subscribe(listener: (snapshot: Snapshot) => void): () => void {
    return this.channel.subscribe(listener);
  }

  /** Replaces the whole state and tells every subscriber; a service whose instances are as before keeps its endpoint array. */
  set(instances: Iterable<Instance>, version = this.channel.current().version + 1): void {
    this.channel.publish(snapshotFromInstances(version, instances, NO_POLICIES, EMPTY_KIND_POLICIES, this.channel.current()));
  }
}
