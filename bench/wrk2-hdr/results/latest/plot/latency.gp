set terminal pngcairo size 1280,800 font 'sans,12'
set output '../latency.png'
set title "Latency by percentile at 8900 req/s, 5 round(s) of 60 s per configuration (wrk2hdr, corrected for coordinated omission)"
set logscale x
set xrange [1:1000000]
set xtics ("0%%" 1, "90%%" 10, "99%%" 100, "99.9%%" 1000, "99.99%%" 10000, "99.999%%" 100000, "99.9999%%" 1000000)
set xlabel 'percentile'
set ylabel 'latency (ms)'
set yrange [0:*]
set grid xtics ytics
set key below horizontal
set border 3
set tics nomirror
plot 'latency-none-r1.dat' using 1:2 with lines lw 2 lc rgb '#333333' title 'none (medians: p99.9 2.25, max 6.77 ms)', \
     'latency-none-r2.dat' using 1:2 with lines lw 2 lc rgb '#333333' notitle, \
     'latency-none-r3.dat' using 1:2 with lines lw 2 lc rgb '#333333' notitle, \
     'latency-none-r4.dat' using 1:2 with lines lw 2 lc rgb '#333333' notitle, \
     'latency-none-r5.dat' using 1:2 with lines lw 2 lc rgb '#333333' notitle, \
     'latency-manual-r1.dat' using 1:2 with lines lw 2 lc rgb '#d95f02' title 'manual (medians: p99.9 7.30, max 18.04 ms)', \
     'latency-manual-r2.dat' using 1:2 with lines lw 2 lc rgb '#d95f02' notitle, \
     'latency-manual-r3.dat' using 1:2 with lines lw 2 lc rgb '#d95f02' notitle, \
     'latency-manual-r4.dat' using 1:2 with lines lw 2 lc rgb '#d95f02' notitle, \
     'latency-manual-r5.dat' using 1:2 with lines lw 2 lc rgb '#d95f02' notitle, \
     'latency-otrace-r1.dat' using 1:2 with lines lw 2 lc rgb '#1b9e77' title 'otrace (medians: p99.9 2.46, max 7.77 ms)', \
     'latency-otrace-r2.dat' using 1:2 with lines lw 2 lc rgb '#1b9e77' notitle, \
     'latency-otrace-r3.dat' using 1:2 with lines lw 2 lc rgb '#1b9e77' notitle, \
     'latency-otrace-r4.dat' using 1:2 with lines lw 2 lc rgb '#1b9e77' notitle, \
     'latency-otrace-r5.dat' using 1:2 with lines lw 2 lc rgb '#1b9e77' notitle, \
     'latency-entry-ret-r1.dat' using 1:2 with lines lw 2 lc rgb '#7570b3' title 'entry-ret (medians: p99.9 6.33, max 18.63 ms)', \
     'latency-entry-ret-r2.dat' using 1:2 with lines lw 2 lc rgb '#7570b3' notitle, \
     'latency-entry-ret-r3.dat' using 1:2 with lines lw 2 lc rgb '#7570b3' notitle, \
     'latency-entry-ret-r4.dat' using 1:2 with lines lw 2 lc rgb '#7570b3' notitle, \
     'latency-entry-ret-r5.dat' using 1:2 with lines lw 2 lc rgb '#7570b3' notitle
set output '../latency-logy.png'
set logscale y
set yrange [*:*]
set ylabel 'latency (ms, log scale)'
plot 'latency-none-r1.dat' using 1:2 with lines lw 2 lc rgb '#333333' title 'none (medians: p99.9 2.25, max 6.77 ms)', \
     'latency-none-r2.dat' using 1:2 with lines lw 2 lc rgb '#333333' notitle, \
     'latency-none-r3.dat' using 1:2 with lines lw 2 lc rgb '#333333' notitle, \
     'latency-none-r4.dat' using 1:2 with lines lw 2 lc rgb '#333333' notitle, \
     'latency-none-r5.dat' using 1:2 with lines lw 2 lc rgb '#333333' notitle, \
     'latency-manual-r1.dat' using 1:2 with lines lw 2 lc rgb '#d95f02' title 'manual (medians: p99.9 7.30, max 18.04 ms)', \
     'latency-manual-r2.dat' using 1:2 with lines lw 2 lc rgb '#d95f02' notitle, \
     'latency-manual-r3.dat' using 1:2 with lines lw 2 lc rgb '#d95f02' notitle, \
     'latency-manual-r4.dat' using 1:2 with lines lw 2 lc rgb '#d95f02' notitle, \
     'latency-manual-r5.dat' using 1:2 with lines lw 2 lc rgb '#d95f02' notitle, \
     'latency-otrace-r1.dat' using 1:2 with lines lw 2 lc rgb '#1b9e77' title 'otrace (medians: p99.9 2.46, max 7.77 ms)', \
     'latency-otrace-r2.dat' using 1:2 with lines lw 2 lc rgb '#1b9e77' notitle, \
     'latency-otrace-r3.dat' using 1:2 with lines lw 2 lc rgb '#1b9e77' notitle, \
     'latency-otrace-r4.dat' using 1:2 with lines lw 2 lc rgb '#1b9e77' notitle, \
     'latency-otrace-r5.dat' using 1:2 with lines lw 2 lc rgb '#1b9e77' notitle, \
     'latency-entry-ret-r1.dat' using 1:2 with lines lw 2 lc rgb '#7570b3' title 'entry-ret (medians: p99.9 6.33, max 18.63 ms)', \
     'latency-entry-ret-r2.dat' using 1:2 with lines lw 2 lc rgb '#7570b3' notitle, \
     'latency-entry-ret-r3.dat' using 1:2 with lines lw 2 lc rgb '#7570b3' notitle, \
     'latency-entry-ret-r4.dat' using 1:2 with lines lw 2 lc rgb '#7570b3' notitle, \
     'latency-entry-ret-r5.dat' using 1:2 with lines lw 2 lc rgb '#7570b3' notitle
