module otrace/bench/wrk2-hdr/sink

go 1.22
