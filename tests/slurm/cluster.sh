#!/usr/bin/env bash
# A one-node Slurm cluster on 127.0.0.1 in a private directory, for the sweep tests.
#   tests/slurm/cluster.sh up DIR     install if absent, start munged, slurmctld, slurmd; print SLURM_CONF
#   tests/slurm/cluster.sh down DIR   cancel jobs, stop the daemons by PID (escalating to KILL)
# Recipe and pitfalls: munge on its own socket (directory 0755), proctrack/linuxproc + task/none
# (cgroup tracking drains the node), no accounting, CR_Core, pid files in DIR.
set -euo pipefail
cmd=${1:?usage: cluster.sh up|down DIR}
D=${2:?usage: cluster.sh up|down DIR}

stop_pid() {
  local f=$1
  [ -f "$f" ] || return 0
  local pid; pid=$(cat "$f")
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 100); do
    local st; st=$(ps -o stat= -p "$pid" 2>/dev/null || true)
    if [ -z "$st" ] || [[ "$st" == Z* ]]; then return 0; fi
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
}

if [ "$cmd" = down ]; then
  export SLURM_CONF=$D/slurm.conf
  if [ -f "$SLURM_CONF" ]; then
    scancel -u "$(id -un)" 2>/dev/null || true
    for _ in $(seq 50); do [ -z "$(squeue -h 2>/dev/null)" ] && break; sleep 0.2; done
  fi
  stop_pid "$D/slurmd.pid"; stop_pid "$D/slurmctld.pid"; stop_pid "$D/munge/pid"
  exit 0
fi

if ! command -v sbatch >/dev/null || [ ! -x /usr/sbin/slurmctld ] || [ ! -x /usr/sbin/munged ]; then
  echo "installing slurmctld slurmd slurm-client munge (apt-get)" >&2
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
fi

mkdir -p "$D"/munge "$D"/state "$D"/spool "$D"/log
chmod 0755 "$D" "$D/munge"
[ -f "$D/munge/key" ] || mungekey -c -k "$D/munge/key"
chmod 0600 "$D/munge/key"
/usr/sbin/munged --key-file="$D/munge/key" --socket="$D/munge/sock" --pid-file="$D/munge/pid" \
  --log-file="$D/munge/log" --seed-file="$D/munge/seed"
munge -n -S "$D/munge/sock" | unmunge -S "$D/munge/sock" >/dev/null

H=$(hostname -s); ME=$(id -un)
P=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
CPUS=${SLURM_CI_CPUS:-8}
MEM=$(( $(free -m | awk '/^Mem:/{print $2}') * 9 / 10 ))
cat > "$D/slurm.conf" <<CONF
ClusterName=reprise-ci
SlurmctldHost=$H(127.0.0.1)
SlurmctldPort=$P
SlurmdPort=$((P + 1))
SlurmUser=$ME
SlurmdUser=$ME
AuthType=auth/munge
AuthInfo=socket=$D/munge/sock
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
SlurmdParameters=config_overrides
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
NodeName=$H NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$D/slurm.conf
/usr/sbin/slurmctld
/usr/sbin/slurmd
for _ in $(seq 120); do
  if [ "$(sinfo -h -o %T 2>/dev/null)" = idle ]; then echo "$SLURM_CONF"; exit 0; fi
  sleep 0.25
done
echo "the Slurm node did not come up:" >&2
sinfo -N -o '%N %T %E' >&2 || true
tail -n 20 "$D/log/slurmctld.log" "$D/log/slurmd.log" >&2 || true
exit 1
