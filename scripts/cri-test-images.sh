#!/usr/bin/env bash
# critest's image specs pull gcr.io/k8s-staging-cri-tools/test-image-*, out of reach here. This
# builds the same images (as cri-tools' images/build describes them, linux/amd64 only) with the
# docker CLI against a Berth daemon, pushes them to a loopback registry as
# k8s-staging-cri-tools/..., and writes a gcr.io/hosts.toml into a certs directory (berthd's
# --registry-certs-dir) that serves gcr.io from it:
#
#   DOCKER_HOST=unix:///run/berth/berth.sock scripts/cri-test-images.sh 127.0.0.1:5000 /etc/berth/certs.d
#
# The daemon needs busybox (berth image bootstrap busybox). One spec cannot pass this way: it
# pulls test-image-digest by the digest of Google's own build, which no rebuild reproduces.
set -euo pipefail
REG=${1:?usage: cri-test-images.sh <registry host:port> <certs dir>}
HOSTS=${2:?usage: cri-test-images.sh <registry host:port> <certs dir>}
P=$REG/k8s-staging-cri-tools
ctx=$(mktemp -d)
# The docker CLI's notice that its legacy builder (the one Berth serves) is deprecated, once per build.
docker() { if [ "$1" = build ]; then command docker "$@" 2> >(grep -v -e DEPRECATED -e 'BuildKit' -e buildx -e '^$' >&2); else command docker "$@"; fi; }
trap 'rm -rf "$ctx"' EXIT

# An image whose only change to busybox is a file named after it (cri-tools' image-test).
file_image() { # name:tag... (all tags get the same image), file name
  local file=$1 && shift
  rm -rf "$ctx/f" && mkdir -p "$ctx/f" && touch "$ctx/f/$file"
  printf 'FROM busybox\nARG TEST\nADD ${TEST} ${TEST}\n' >"$ctx/f/Dockerfile"
  local tags=()
  for t in "$@"; do tags+=(-t "$P/$t"); done
  docker build -q --build-arg "TEST=$file" "${tags[@]}" "$ctx/f" >/dev/null
  for t in "$@"; do docker push -q "$P/$t" >/dev/null; done
  # Only the registry keeps them: critest counts the names an image has.
  for t in "$@"; do docker rmi "$P/$t" >/dev/null; done
}

# An image that runs as a user (cri-tools' image-user).
user_image() { # name, user
  printf 'FROM busybox\nUSER %s\n' "$2" | docker build -q -t "$P/$1:latest" - >/dev/null
  docker push -q "$P/$1:latest" >/dev/null
  docker rmi "$P/$1:latest" >/dev/null
}

for i in test-image-1 test-image-2 test-image-3 test-image-latest test-image-digest; do file_image "$i" "$i:latest"; done
file_image same-image test-image-tags:1 test-image-tags:2 test-image-tags:3
file_image test test-image-tag:test
file_image all test-image-tag:all
user_image test-image-user-uid 1002
user_image test-image-user-username www-data
user_image test-image-user-uid-group 1003:1004
user_image test-image-user-username-group www-data:1004
# Debian's busybox-static has no adduser: the same passwd and group lines, written directly.
printf '%s\n' 'FROM busybox' \
  "RUN echo 'default-user:x:1000:1000:Linux User,,,:/home/default-user:/bin/sh' >>/etc/passwd && echo 'default-user:x:1000:' >>/etc/group && echo 'group-defined-in-image:x:50000:default-user' >>/etc/group" \
  'USER 1000' | docker build -q -t "$P/test-image-predefined-group:latest" - >/dev/null
docker push -q "$P/test-image-predefined-group:latest" >/dev/null
docker rmi "$P/test-image-predefined-group:latest" >/dev/null

# The images the runtime specs run (registry.k8s.io/e2e-test-images/...): busybox as it is here,
# and stand-ins for nginx and httpd that serve the same page on the same ports with busybox's
# httpd. Specs that need the real programs (nginx's pid file, ipcs, pgrep) cannot pass this way.
E=$REG/e2e-test-images
docker tag busybox "$E/busybox:1.29-2" && docker push -q "$E/busybox:1.29-2" >/dev/null && docker rmi "$E/busybox:1.29-2" >/dev/null
web_image() { # reference, port, startup line on stderr
  rm -rf "$ctx/w" && mkdir -p "$ctx/w" && echo '<h1>Welcome to nginx!</h1>' >"$ctx/w/index.html"
  printf 'FROM busybox\nCOPY index.html /www/index.html\nCMD ["sh", "-c", "echo \\"%s\\" >&2; exec httpd -f -p %s -h /www"]\n' "$3" "$2" >"$ctx/w/Dockerfile"
  docker build -q -t "$1" "$ctx/w" >/dev/null && docker push -q "$1" >/dev/null && docker rmi "$1" >/dev/null
}
web_image "$E/nginx:1.14-2" 80 'nginx stand-in'
web_image "$E/httpd:2.4.39-4" 80 'AH00094: Command line: httpd -D FOREGROUND'
web_image "$P/hostnet-nginx-amd64:latest" 12003 'nginx stand-in'
mkdir -p "$HOSTS/registry.k8s.io"
printf 'server = "https://registry.k8s.io"\n[host."http://%s"]\n  capabilities = ["pull", "resolve"]\n' "$REG" >"$HOSTS/registry.k8s.io/hosts.toml"

mkdir -p "$HOSTS/gcr.io"
printf 'server = "https://gcr.io"\n[host."http://%s"]\n  capabilities = ["pull", "resolve"]\n' "$REG" >"$HOSTS/gcr.io/hosts.toml"
echo "critest's images are in $REG; $HOSTS/{gcr.io,registry.k8s.io}/hosts.toml serve them from there"
