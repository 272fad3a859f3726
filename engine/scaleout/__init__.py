"""Scale-out: extraction in independent blocks (blocks) run by an executor (cluster: in-process, Dask local
or remote), and multi-process training (ddp, train_cli for torchrun)."""
