// Dashboard (browser): the registry as the watch stream describes it — instances by id, policies by service.

export class MeshState {
  instances = new Map();
  policies = new Map();
  version = 0;
  /** False until the first `reset` arrived: before it, "no services" would be a lie. */
  loaded = false;

  /** Applies one watch event; true when something visible changed. */
  apply(event) {
    this.version = event.version;
    switch (event.type) {
      case 'reset':
        this.instances = new Map(event.instances.map((instance) => [instance.id, instance]));
        this.policies = new Map((event.policies ?? []).map((policy) => [policy.service, policy]));
        this.loaded = true;
        return true;
      case 'upsert':
        this.instances.set(event.instance.id, event.instance);
        return true;
      case 'remove':
        return this.instances.delete(event.id);
      case 'policy':
        this.policies.set(event.policy.service, event.policy);
        return true;
      case 'policy-remove':
        return this.policies.delete(event.service);
      default:
        return false;
    }
  }

  /** Services by name, each with its instances and health counts. */
  services() {
    const byName = new Map();
    for (const instance of this.instances.values()) {
      let service = byName.get(instance.service);
      if (!service) {
        service = { name: instance.service, instances: [], passing: 0, critical: 0 };
        byName.set(instance.service, service);
      }
      service.instances.push(instance);
      if (instance.health === 'passing') service.passing++;
      else service.critical++;
    }
    for (const service of byName.values()) service.instances.sort((a, b) => a.id.localeCompare(b.id));
    return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  service(name) {
    return this.services().find((service) => service.name === name);
  }
}
