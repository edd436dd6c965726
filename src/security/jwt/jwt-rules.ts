// Security/JWT: which providers a request needs — rules tried in order on the normalized path and the method, first match wins.
import type { JwtRulePolicy } from '../../model/index.js';

interface CompiledRule<P> {
  readonly pathPrefix: string;
  readonly methods: ReadonlySet<string> | undefined;
  readonly providers: readonly P[];
}

export class JwtRuleTable<P> {
  private readonly rules: readonly CompiledRule<P>[];

  constructor(rules: readonly JwtRulePolicy[], providerNamed: (name: string) => P) {
    this.rules = rules.map((rule) => ({
      pathPrefix: rule.match.pathPrefix,
      methods: rule.match.methods ? new Set(rule.match.methods) : undefined,
      providers: rule.require.map(providerNamed),
    }));
  }

  /**
   * The providers the first matching rule requires (any one suffices); an empty list when that rule requires none;
   * undefined when no rule matches, which, as Envoy's jwt_authn, means no token is required.
   */
  requirement(method: string, canonicalPath: string): readonly P[] | undefined {
    for (const rule of this.rules) {
      if (!canonicalPath.startsWith(rule.pathPrefix)) continue;
      if (rule.methods && !rule.methods.has(method)) continue;
      return rule.providers;
    }
    return undefined;
  }
}
