/** A zone and an instance type that has stock there. */
export interface Placement {
  readonly zone: string;
  readonly type: string;
}

/**
 * Where instances can go, best first, from a DescribeAvailableResource answer: for each type in
 * the order given, the zones (in the answer's order) where the zone is Available and the type is
 * Available with stock (`StatusCategory` `WithStock`). `zone` restricts the choice to one zone.
 * An answer without stock anywhere gives an empty list.
 */
export function placements(answer: unknown, types: readonly string[], zone?: string): Placement[] {
  const zones = arr((answer as { AvailableZones?: { AvailableZone?: unknown } } | undefined)?.AvailableZones?.AvailableZone);
  const stock = new Map<string, Set<string>>(); // type → zones with stock
  for (const z of zones) {
    const zz = z as { ZoneId?: unknown; Status?: unknown; AvailableResources?: { AvailableResource?: unknown } };
    if (typeof zz.ZoneId !== 'string' || zz.Status !== 'Available') continue;
    if (zone !== undefined && zz.ZoneId !== zone) continue;
    for (const r of arr(zz.AvailableResources?.AvailableResource)) {
      const supported = arr((r as { SupportedResources?: { SupportedResource?: unknown } }).SupportedResources?.SupportedResource);
      for (const s of supported) {
        const ss = s as { Value?: unknown; Status?: unknown; StatusCategory?: unknown };
        if (typeof ss.Value !== 'string' || ss.Status !== 'Available' || ss.StatusCategory !== 'WithStock') continue;
        const set = stock.get(ss.Value) ?? new Set<string>();
        set.add(zz.ZoneId);
        stock.set(ss.Value, set);
      }
    }
  }
  const out: Placement[] = [];
  for (const type of types) for (const z of stock.get(type) ?? []) out.push({ zone: z, type });
  return out;
}

function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
