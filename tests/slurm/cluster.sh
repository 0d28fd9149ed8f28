#!/usr/bin/env bash
# A private single-node Slurm for the tests: munged, slurmctld and slurmd with every file (key,
# sockets, state, logs, pid files) inside DIR, on free ports, so it touches nothing of the machine's
# own setup. Needs root and Debian's slurm-wlm + munge.
#   cluster.sh start DIR   -> prints the SLURM_CONF to export; the node is idle when it returns
#   cluster.sh stop DIR    -> stops exactly the daemons it started, by their pid files
set -euo pipefail
action=$1 dir=$2
conf="$dir/slurm.conf"

stop() {
  for pidfile in "$dir/slurmd.pid" "$dir/slurmctld.pid" "$dir/munge/munged.pid"; do
    if [ -s "$pidfile" ]; then kill "$(cat "$pidfile")" 2>/dev/null || true; fi
  done
}

if [ "$action" = stop ]; then stop; exit 0; fi

mkdir -p "$dir/state" "$dir/spool" "$dir/munge"
chmod 755 "$dir"
chown munge:munge "$dir/munge" && chmod 711 "$dir/munge"
dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
chown munge:munge "$dir/munge/munge.key" && chmod 400 "$dir/munge/munge.key"
runuser -u munge -- /usr/sbin/munged --socket="$dir/munge/munge.socket" --key-file="$dir/munge/munge.key" \
  --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed"

# Two free TCP ports (the kernel picks them).
read -r ctld_port slurmd_port < <(python3 - 2>/dev/null <<'PY' || echo "$((20000 + RANDOM % 20000)) $((40000 + RANDOM % 20000))"
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("", 0))
print(*[x.getsockname()[1] for x in s])
PY
)
host=$(hostname -s)
cat > "$conf" <<CONF
ClusterName=pbtest
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MailProg=/bin/true
NodeName=$host CPUs=$(nproc) RealMemory=$(free -m | awk '/^Mem:/{print $2}') State=UNKNOWN
PartitionName=pbtest Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$conf
/usr/sbin/slurmctld -f "$conf"
/usr/sbin/slurmd -f "$conf"
for _ in $(seq 60); do
  if sinfo -h -o %t 2>/dev/null | grep -q idle; then echo "$conf"; exit 0; fi
  sleep 0.5
done
echo "cluster.sh: the node did not come up; see $dir/*.log" >&2
stop
exit 1
