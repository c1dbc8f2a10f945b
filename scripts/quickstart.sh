#!/usr/bin/env bash
# The README's main job: a local Ray head and Redis on 127.0.0.1 (`sweep local up`), then the
# small sweep of examples/quick.yaml submitted to that head as a Ray job. Extra arguments go to
# `sweep launch`.
#
# The IMDB archive: $SWEEP_IMDB if set; else ./aclImdb_v1.tar.gz if you have a copy here; else
# a copy kept beside the checkout (../shared/data/imdb/, where the offline machines this
# project is built on keep theirs); else `imdb`, the official archive, downloaded once,
# checked against its published checksums and cached.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
data="${SWEEP_IMDB:-}"
for candidate in aclImdb_v1.tar.gz "$root/../shared/data/imdb/aclImdb_v1.tar.gz"; do
    if [ -z "$data" ] && [ -f "$candidate" ]; then
        data="$candidate"
    fi
done
data="${data:-imdb}"
echo "data: $data"
sweep local up
sweep launch "$root/examples/quick.yaml" --data "$data" --address http://127.0.0.1:8265 "$@"
