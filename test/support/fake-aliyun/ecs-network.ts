import { createHash } from 'node:crypto';
import { ApiError } from './api-error.js';
import { type Handler, page, securityGroupOf, vpcOf } from './cloud.js';
import { ecsTags, matchesTags } from './params.js';
import { apiTime, newId, type SecurityGroupRecord, type SecurityRule } from './state.js';

const describeAvailableResource: Handler = (cloud, p) => {
  const dest = p.required('DestinationResource');
  if (dest !== 'InstanceType') throw new ApiError(400, 'Invalid.DestinationResource', `The fake answers DestinationResource=InstanceType only (${dest}).`);
  const zone = p.get('ZoneId');
  const type = p.get('InstanceType');
  const types = cloud.instanceTypes.filter((t) => !type || t === type);
  const zones = cloud.zones.filter((z) => !zone || z === zone);
  return {
    AvailableZones: {
      AvailableZone: zones.map((z) => {
        const supported = types.map((t) => {
          const sold = cloud.faults.noStock.includes(t);
          return { Value: t, Status: sold ? 'SoldOut' : 'Available', StatusCategory: sold ? 'WithoutStock' : 'WithStock' };
        });
        const any = supported.some((s) => s.StatusCategory === 'WithStock');
        return {
          ZoneId: z,
          RegionId: cloud.region,
          Status: any ? 'Available' : 'SoldOut',
          StatusCategory: any ? 'WithStock' : 'WithoutStock',
          AvailableResources: { AvailableResource: [{ Type: 'InstanceType', SupportedResources: { SupportedResource: supported } }] },
        };
      }),
    },
  };
};

const createSecurityGroup: Handler = (cloud, p) => {
  const vpcId = p.required('VpcId');
  vpcOf(cloud, vpcId);
  const sg: SecurityGroupRecord = {
    id: newId('sg'),
    vpcId,
    name: p.get('SecurityGroupName') ?? '',
    tags: p.tags(),
    createdAt: apiTime(),
    rules: [],
  };
  cloud.state.securityGroups.set(sg.id, sg);
  return { SecurityGroupId: sg.id };
};

const CIDR = /^(\d{1,3}\.){3}\d{1,3}(\/\d{1,2})?$/;

/** One ingress rule from the legacy top-level fields or a `Permissions.N` object. */
function ruleOf(o: Record<string, string | undefined>): SecurityRule {
  const ipProtocol = (o.IpProtocol ?? '').toLowerCase();
  if (!ipProtocol) throw new ApiError(400, 'MissingParameter', 'The input parameter "IpProtocol" that is mandatory for processing this request is not supplied.');
  if (!['tcp', 'udp', 'icmp', 'gre', 'all'].includes(ipProtocol)) throw new ApiError(400, 'InvalidIpProtocol.Malformed', `The specified IpProtocol is not valid. (${ipProtocol})`);
  const portRange = o.PortRange ?? (ipProtocol === 'tcp' || ipProtocol === 'udp' ? '' : '-1/-1');
  if (!/^-?\d+\/-?\d+$/.test(portRange)) throw new ApiError(400, 'InvalidPortRange.Malformed', `The specified PortRange is not valid. (${portRange})`);
  const sourceCidrIp = o.SourceCidrIp ?? '';
  if (!CIDR.test(sourceCidrIp)) throw new ApiError(400, 'InvalidSourceCidrIp.Malformed', `The specified SourceCidrIp is not valid. (${sourceCidrIp})`);
  return { ipProtocol, portRange, sourceCidrIp, policy: o.Policy ?? 'accept', priority: o.Priority ?? '1', description: o.Description ?? '' };
}

const authorizeSecurityGroup: Handler = (cloud, p) => {
  const sg = securityGroupOf(cloud, p.required('SecurityGroupId'));
  const permissions = p.objects('Permissions');
  const top = {
    IpProtocol: p.get('IpProtocol'),
    PortRange: p.get('PortRange'),
    SourceCidrIp: p.get('SourceCidrIp'),
    Policy: p.get('Policy'),
    Priority: p.get('Priority'),
    Description: p.get('Description'),
  };
  const rules = (permissions.length > 0 ? permissions : [top]).map(ruleOf);
  for (const r of rules) {
    // Adding a rule that exists changes nothing (as on the real cloud).
    const same = sg.rules.some((x) => x.ipProtocol === r.ipProtocol && x.portRange === r.portRange && x.sourceCidrIp === r.sourceCidrIp && x.policy === r.policy);
    if (!same) sg.rules.push(r);
  }
  return {};
};

const describeSecurityGroups: Handler = (cloud, p) => {
  const vpcId = p.get('VpcId');
  const id = p.get('SecurityGroupId');
  const ids = p.jsonList('SecurityGroupIds');
  const name = p.get('SecurityGroupName');
  const tags = p.tags();
  const found = [...cloud.state.securityGroups.values()].filter(
    (g) => (!vpcId || g.vpcId === vpcId) && (!id || g.id === id) && (!ids || ids.includes(g.id)) && (!name || g.name === name) && matchesTags(g.tags, tags),
  );
  const pg = page(found, p, 10, 100);
  const instances = [...cloud.state.instances.values()];
  return {
    RegionId: cloud.region,
    PageNumber: pg.PageNumber,
    PageSize: pg.PageSize,
    TotalCount: pg.TotalCount,
    SecurityGroups: {
      SecurityGroup: pg.items.map((g) => ({
        SecurityGroupId: g.id,
        SecurityGroupName: g.name,
        SecurityGroupType: 'normal',
        VpcId: g.vpcId,
        CreationTime: g.createdAt,
        RuleCount: g.rules.length,
        EcsCount: instances.filter((i) => i.securityGroupIds.includes(g.id)).length,
        ResourceGroupId: 'rg-default',
        Tags: ecsTags(g.tags),
      })),
    },
  };
};

const describeSecurityGroupAttribute: Handler = (cloud, p) => {
  const sg = securityGroupOf(cloud, p.required('SecurityGroupId'));
  return {
    RegionId: cloud.region,
    SecurityGroupId: sg.id,
    SecurityGroupName: sg.name,
    VpcId: sg.vpcId,
    InnerAccessPolicy: 'Accept',
    Permissions: {
      Permission: sg.rules.map((r) => ({
        Direction: 'ingress',
        IpProtocol: r.ipProtocol.toUpperCase(),
        PortRange: r.portRange,
        SourceCidrIp: r.sourceCidrIp,
        Policy: r.policy === 'accept' ? 'Accept' : 'Drop',
        Priority: r.priority,
        Description: r.description,
        NicType: 'intranet',
      })),
    },
  };
};

const deleteSecurityGroup: Handler = (cloud, p) => {
  const sg = securityGroupOf(cloud, p.required('SecurityGroupId'));
  if ([...cloud.state.instances.values()].some((i) => i.securityGroupIds.includes(sg.id))) {
    // ECS answers this one with 403 (its documentation's table), VPC's DependencyViolations with 400.
    throw new ApiError(403, 'DependencyViolation', 'There is still instance(s) in the specified security group.');
  }
  cloud.state.securityGroups.delete(sg.id);
  return {};
};

/** Key types ECS imports: RSA, DSA and ECDSA, not ed25519. */
const KEY_TYPES = ['ssh-rsa', 'ssh-dss', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521'];

/** The key blob of an OpenSSH public key line when ECS takes its type; undefined otherwise. */
function keyBlob(line: string): Buffer | undefined {
  const [type, b64] = line.trim().split(/\s+/);
  if (!type || !b64 || !KEY_TYPES.includes(type) || !/^[A-Za-z0-9+/]+=*$/.test(b64)) return undefined;
  const blob = Buffer.from(b64, 'base64');
  // The blob starts with its own type as an SSH string.
  if (blob.length < 4) return undefined;
  const n = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + n).toString('latin1') === type ? blob : undefined;
}

const importKeyPair: Handler = (cloud, p) => {
  const name = p.required('KeyPairName');
  if (!/^[A-Za-z][A-Za-z0-9._:-]{1,127}$/.test(name)) throw new ApiError(400, 'InvalidKeyPairName.Malformed', `The specified KeyPairName is not valid. (${name})`);
  const body = p.required('PublicKeyBody');
  const blob = keyBlob(body);
  if (!blob) throw new ApiError(400, 'InvalidPublicKeyBody.Malformed', 'The specified parameter PublicKeyBody is not valid: an OpenSSH rsa, dsa or ecdsa public key is expected.');
  if (cloud.state.keyPairs.has(name)) throw new ApiError(400, 'KeyPair.AlreadyExist', 'The key pair already exist.');
  const fingerprint = createHash('md5').update(blob).digest('hex').replace(/(..)(?!$)/g, '$1:');
  cloud.state.keyPairs.set(name, { name, publicKey: body.trim(), fingerprint, tags: p.tags(), createdAt: apiTime() });
  return { KeyPairName: name, KeyPairFingerPrint: fingerprint };
};

const describeKeyPairs: Handler = (cloud, p) => {
  const name = p.get('KeyPairName');
  const tags = p.tags();
  const found = [...cloud.state.keyPairs.values()].filter((k) => (!name || k.name === name) && matchesTags(k.tags, tags));
  const pg = page(found, p, 10, 50);
  return {
    PageNumber: pg.PageNumber,
    PageSize: pg.PageSize,
    TotalCount: pg.TotalCount,
    KeyPairs: {
      KeyPair: pg.items.map((k) => ({
        KeyPairName: k.name,
        KeyPairFingerPrint: k.fingerprint,
        CreationTime: k.createdAt,
        ResourceGroupId: 'rg-default',
        Tags: ecsTags(k.tags),
      })),
    },
  };
};

const deleteKeyPairs: Handler = (cloud, p) => {
  const names = p.jsonList('KeyPairNames');
  if (!names) throw new ApiError(400, 'MissingParameter', 'The input parameter "KeyPairNames" that is mandatory for processing this request is not supplied.');
  // Names that do not exist are skipped: deleting is idempotent.
  for (const n of names) cloud.state.keyPairs.delete(n);
  return {};
};

/** ECS's zone stock, security group and key pair actions. */
export const ecsNetworkActions: Record<string, Handler> = {
  DescribeAvailableResource: describeAvailableResource,
  CreateSecurityGroup: createSecurityGroup,
  AuthorizeSecurityGroup: authorizeSecurityGroup,
  DescribeSecurityGroups: describeSecurityGroups,
  DescribeSecurityGroupAttribute: describeSecurityGroupAttribute,
  DeleteSecurityGroup: deleteSecurityGroup,
  ImportKeyPair: importKeyPair,
  DescribeKeyPairs: describeKeyPairs,
  DeleteKeyPairs: deleteKeyPairs,
};
