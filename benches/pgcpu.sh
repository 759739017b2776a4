#!/bin/bash
# usage: benches/pgcpu.sh BENCH_BINARY
# Runs an oauth_axum_pg bench binary (MEDMIJ_TEST_DATABASE_URL set) and prints its flows/s
# line and the CPU time per flow of the bench process (/usr/bin/time) and of PostgreSQL
# 15's cluster "main" (the postmaster's own and its reaped backends' times, before and
# after). BENCHMARKS.md, fourth session.
pm=$(head -1 /var/lib/postgresql/15/main/postmaster.pid)
tck=$(getconf CLK_TCK)
pgt() { awk '{print $14+$15+$16+$17}' /proc/$pm/stat; }
a=$(pgt)
/usr/bin/time -f "%U %S" -o ${TMPDIR:-/tmp}/pgcpu.time "$1" > ${TMPDIR:-/tmp}/pgcpu.out
b=$(pgt)
cat ${TMPDIR:-/tmp}/pgcpu.out
read u s < ${TMPDIR:-/tmp}/pgcpu.time
flows=${MEDMIJ_BENCH_FLOWS:-2000}
python3 -c "
pg=($b-$a)/$tck; app=$u+$s
print(f'CPU per flow: app {app*1000/$flows:.3f} ms, postgres {pg*1000/$flows:.3f} ms, total {(app+pg)*1000/$flows:.3f} ms')"
