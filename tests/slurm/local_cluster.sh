#!/usr/bin/env bash
# A real single-node SLURM cluster on localhost for the cluster tests.
#   local_cluster.sh install   apt-get install slurm-wlm and munge (needs root)
#   local_cluster.sh start     write a config under $COGFIT_SLURM_DIR, start munged, slurmctld, slurmd
#   local_cluster.sh stop      stop the daemons started by `start`
#   local_cluster.sh env       print `export SLURM_CONF=...` for clients (sbatch, squeue, scancel)
# The node declares one GPU GRES; no physical GPU is needed for the scheduler to honour
# (and record) a GPU request. No accounting database: job state comes from squeue/scontrol.
set -euo pipefail

DIR=${COGFIT_SLURM_DIR:-/tmp/cogfit-slurm}
CONF=$DIR/etc/slurm.conf
HOST=$(hostname -s)

install() {
    if command -v slurmctld >/dev/null && command -v munged >/dev/null; then
        return 0
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
}

write_config() {
    local cpus mem
    cpus=$(nproc)
    mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 / 2 ))
    mkdir -p "$DIR"/etc "$DIR"/state "$DIR"/spool "$DIR"/log
    cat >"$CONF" <<CONF
ClusterName=cogfit
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
GresTypes=gpu
ReturnToService=2
MinJobAge=3600
KillWait=5
MpiDefault=none
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem Gres=gpu:1 State=UNKNOWN
PartitionName=main Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF
    cat >"$DIR/etc/gres.conf" <<CONF
NodeName=$HOST Name=gpu Count=1 File=/dev/null
CONF
    # Job steps (srun inside a batch job) read the default path, not the submitter's
    # SLURM_CONF: link it there unless a real cluster config already lives there.
    mkdir -p /etc/slurm
    for f in slurm.conf gres.conf; do
        if [ ! -e "/etc/slurm/$f" ] || [ -L "/etc/slurm/$f" ]; then
            ln -sfn "$DIR/etc/$f" "/etc/slurm/$f"
        fi
    done
}

start() {
    install
    stop >/dev/null 2>&1 || true
    rm -rf "$DIR/state" "$DIR/spool"  # a fresh cluster: no jobs from earlier runs
    write_config
    if [ ! -s /etc/munge/munge.key ]; then
        mkdir -p /etc/munge
        dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    fi
    chown root:root /etc/munge/munge.key 2>/dev/null || true
    chmod 400 /etc/munge/munge.key
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    if ! pgrep -x munged >/dev/null; then
        munged --force
    fi
    slurmctld -f "$CONF"
    slurmd -f "$CONF"
    export SLURM_CONF=$CONF
    for _ in $(seq 1 30); do
        if sinfo -h -o '%T' 2>/dev/null | grep -qx idle; then
            echo "SLURM is up: $(sinfo -h -o '%P %D %T %G')"
            return 0
        fi
        sleep 1
    done
    echo "SLURM did not come up; logs in $DIR/log" >&2
    tail -n 20 "$DIR"/log/*.log >&2 || true
    return 1
}

stop() {
    for pidfile in "$DIR/slurmd.pid" "$DIR/slurmctld.pid"; do
        if [ -s "$pidfile" ]; then
            kill "$(cat "$pidfile")" 2>/dev/null || true
        fi
    done
    sleep 1
}

case "${1:-}" in
    install) install ;;
    start) start ;;
    stop) stop ;;
    env) echo "export SLURM_CONF=$CONF" ;;
    *) echo "usage: $0 install|start|stop|env" >&2; exit 2 ;;
esac
