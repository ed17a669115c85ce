// Allocates and touches 64 MiB buffers until something stops it (at most
// 8 GiB, so it ends even without a limit).
const held = [];
for (let i = 0; i < 128; i++) {
  held.push(Buffer.alloc(64 << 20, 1));
}
console.log('allocated', held.length * 64, 'MiB');
