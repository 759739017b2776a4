#!/usr/bin/env bash
# Scan what a TLS server offers by handshaking with `openssl s_client` once per
# protocol version, per cipher suite and per key-exchange group (MedMij TLS-1).
#
# usage: scan_profile.sh PORT SERVERNAME CAFILE [CLIENTCERT CLIENTKEY CLIENTCHAIN]
# Prints one line per accepted item, sorted:
#   VERSION <v>            protocol version accepted (tls1, tls1_1, tls1_2, tls1_3)
#   SUITE <v> <name>       cipher suite accepted with that version
#   GROUP <v> <name>       key-exchange group accepted with that version (TLS 1.2: ECDHE curves)
#   DHE tls1_2 DH, <n> bits  TLS 1.2 DHE accepted, with the server's group size
#   PREFER <name>          the TLS 1.2 suite chosen when the client prefers a weaker one
# Exits non-zero if openssl is missing.
set -uo pipefail
port=$1 name=$2 ca=$3 cert=${4:-} key=${5:-} chain=${6:-}
command -v openssl >/dev/null || { echo "scan_profile.sh: openssl not found" >&2; exit 2; }

auth=()
if [ -n "$cert" ]; then auth=(-cert "$cert" -key "$key" -cert_chain "$chain"); fi

# try ARGS...: 0 if a handshake with these s_client options succeeds.
try() {
    local out
    out=$(timeout 10 openssl s_client -connect "127.0.0.1:$port" -servername "$name" \
        -CAfile "$ca" -verify_return_error "${auth[@]}" "$@" </dev/null 2>&1) || return 1
    grep -q "Verify return code: 0 (ok)" <<<"$out" || return 1
    # A TLS 1.3 server may refuse the client certificate after s_client's side of
    # the handshake is done; its alert then shows in the output.
    grep -q "alert" <<<"$out" && return 1
    printf '%s\n' "$out"
}

lowsec='DEFAULT:@SECLEVEL=0'
for v in tls1 tls1_1 tls1_2 tls1_3; do
    if [ "$v" = tls1_3 ]; then c=(); else c=(-cipher "$lowsec"); fi
    try "-$v" "${c[@]}" >/dev/null && echo "VERSION $v"
done

# TLS 1.2 and older suites, every one OpenSSL knows.
for s in $(openssl ciphers 'ALL:COMPLEMENTOFALL:@SECLEVEL=0' | tr ':' ' '); do
    case $s in TLS_*) continue ;; esac
    try -tls1_2 -cipher "$s:@SECLEVEL=0" >/dev/null && echo "SUITE tls1_2 $s"
done
for s in TLS_AES_256_GCM_SHA384 TLS_CHACHA20_POLY1305_SHA256 TLS_AES_128_GCM_SHA256 \
         TLS_AES_128_CCM_SHA256 TLS_AES_128_CCM_8_SHA256; do
    try -tls1_3 -ciphersuites "$s" >/dev/null && echo "SUITE tls1_3 $s"
done

for g in X25519 X448 P-256 P-384 P-521 ffdhe2048 ffdhe3072 ffdhe4096 ffdhe6144 ffdhe8192; do
    try -tls1_3 -groups "$g" >/dev/null && echo "GROUP tls1_3 $g"
    # TLS 1.2: groups name the ECDHE curves; offer ECDHE suites only, else a
    # server with DHE suites would fall back to DHE with its own group.
    try -tls1_2 -groups "$g" -cipher 'ECDHE:@SECLEVEL=0' >/dev/null && echo "GROUP tls1_2 $g"
done
# TLS 1.2 DHE: the server picks the group; report its size.
if out=$(try -tls1_2 -cipher 'DHE:@SECLEVEL=0'); then
    sed -n 's/^Server Temp Key: \(DH, [0-9]* bits\).*$/DHE tls1_2 \1/p' <<<"$out" | head -n 1
fi

# Server preference (MedMij TLS-1): the client lists AES-128 first, the server
# must still choose its strongest.
out=$(try -tls1_2 -cipher 'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384')
sed -n 's/^ *Cipher *: *\(.*\)$/PREFER \1/p' <<<"$out" | head -n 1
exit 0
