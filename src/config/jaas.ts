/**
 * Kafka's `sasl.jaas.config`: one JAAS login module with its options, as Kafka's JaasConfig reads
 * it. Read by the broker's own inter-broker login (security.ts: `interBrokerLogin`) and by the
 * operations commands' client settings (src/cli/ops/client-config.ts). Messages name the setting,
 * never a value: the options hold passwords.
 */

export interface JaasConfig {
  module: string;
  options: Map<string, string>;
}

/**
 * A JAAS configuration of one login module, as Kafka's JaasConfig reads it:
 * `<class> <flag> [name=value]... ;` with values quoted ("…", backslash escapes) or bare words.
 */
export function parseJaas(text: string): JaasConfig | string {
  const tokens: { t: 'word' | 'str' | '=' | ';'; v: string }[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) i++;
    else if (c === '=' || c === ';') tokens.push({ t: c, v: c }), i++;
    else if (c === '"') {
      let v = '';
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === '\\' && i + 1 < text.length) i++;
        v += text[i++];
      }
      if (i >= text.length) return 'sasl.jaas.config: an unterminated quoted value';
      i++;
      tokens.push({ t: 'str', v });
    } else {
      const m = /^[^\s=;"]+/.exec(text.slice(i))!;
      tokens.push({ t: 'word', v: m[0] });
      i += m[0].length;
    }
  }
  const bad = 'sasl.jaas.config: expected `<LoginModule class> required name="value" ... ;`';
  const [module, flag] = tokens;
  if (module?.t !== 'word' || flag?.t !== 'word' || !/^(required|requisite|sufficient|optional)$/.test(flag.v)) return bad;
  const options = new Map<string, string>();
  let k = 2;
  for (; k + 2 < tokens.length && tokens[k]!.t === 'word'; k += 3) {
    if (tokens[k + 1]!.t !== '=' || (tokens[k + 2]!.t !== 'str' && tokens[k + 2]!.t !== 'word')) return bad;
    options.set(tokens[k]!.v, tokens[k + 2]!.v);
  }
  if (tokens[k]?.t !== ';' || k + 1 !== tokens.length) return bad;
  return { module: module.v, options };
}
