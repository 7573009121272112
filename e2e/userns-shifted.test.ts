/**
 * The same `--userns-remap` tests as userns.test.ts on the way kernels without idmapped
 * overlay layers take (kernels whose overlay cannot take idmapped layers): `BERTH_USERNS_IDMAP=0` makes berthd unpack a
 * chowned copy of every image, dockerd's way, instead.
 */
process.env.BERTH_USERNS_IDMAP = '0';
await import('./userns.test.ts');
