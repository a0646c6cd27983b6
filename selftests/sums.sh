# SPDX-License-Identifier: GPL-2.0
# Sourced by guest scripts (server/demo-guest.sh, selftests/twohost-guest.sh):
# the sha256 of every file under $1, paths relative, by read(2) (sums_read)
# and through a shared mmap (sums_mmap), one "SUM  ./PATH" line each.
sums_read() { (cd "$1" && find . -type f | sort | xargs -r sha256sum); }
sums_mmap() {
	python3 - "$1" <<'PY'
import hashlib, mmap, os, sys
root = sys.argv[1]
for dirpath, _, files in sorted(os.walk(root)):
    for name in sorted(files):
        path = os.path.join(dirpath, name)
        with open(path, 'rb') as f:
            size = os.fstat(f.fileno()).st_size
            data = mmap.mmap(f.fileno(), size, prot=mmap.PROT_READ)[:] if size else b''
        print(hashlib.sha256(data).hexdigest() + '  ./' + os.path.relpath(path, root))
PY
}
