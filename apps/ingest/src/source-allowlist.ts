import { BlockList, isIP } from "node:net";

/**
 * Parses "203.0.113.0/24, 2001:db8::/32" (a bare address is a /32 or /128) into a BlockList
 * of the callers to serve, or names the first entry that is not a CIDR. node:net's BlockList
 * also matches an IPv4 caller seen as "::ffff:203.0.113.9" on a dual-stack socket.
 */
export function parseSourceAllowlist(text: string): { ok: true; list: BlockList } | { ok: false; error: string } {
  const list = new BlockList();
  const entries = text
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
  if (entries.length === 0) return { ok: false, error: "must list at least one CIDR" };
  for (const entry of entries) {
    const [address = "", prefixText, extra] = entry.split("/");
    const version = isIP(address);
    const maxPrefix = version === 4 ? 32 : 128;
    const prefix = prefixText === undefined ? maxPrefix : /^[0-9]{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
    if (version === 0 || extra !== undefined || !(prefix >= 0 && prefix <= maxPrefix)) {
      return { ok: false, error: `"${entry}" is not an IPv4 or IPv6 CIDR (e.g. 203.0.113.0/24)` };
    }
    list.addSubnet(address, prefix, version === 4 ? "ipv4" : "ipv6");
  }
  return { ok: true, list };
}

/** Whether `address` (a socket's or X-Forwarded-For's, as Express's req.ip gives it) is in `list`. */
export function isAllowedSource(list: BlockList, address: string | undefined): boolean {
  const version = address === undefined ? 0 : isIP(address);
  return version !== 0 && list.check(address!, version === 4 ? "ipv4" : "ipv6");
}
