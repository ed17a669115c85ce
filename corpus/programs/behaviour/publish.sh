#!/bin/sh
# Publishing from package code (fakes in /mnt/fakebin: copies of /bin/true,
# called by full path because real npm/cargo exist on PATH).
/mnt/fakebin/npm publish --access public                    # hit
/mnt/fakebin/twine upload dist/*                            # hit
/mnt/fakebin/cargo publish --allow-dirty                    # hit
/mnt/fakebin/sudo -n true                                   # hit: sudo
/mnt/fakebin/su -c id                                       # hit: su
/mnt/fakebin/pkexec id                                      # hit: pkexec
mount -t tmpfs none /tmp                                    # hit: mount (real, fails as non-root)
# near misses
/mnt/fakebin/npm view left-pad version                      # npm, but not publish
/mnt/fakebin/cargo metadata --format-version 1              # cargo, but not publish
id > /dev/null                                              # recon, no rule
exit 0
