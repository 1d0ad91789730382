# plot.gp — bench/run.sh's ratios against their goals, as one bar chart
#
#   gnuplot -e "datafile='bench/results.dat'; outfile='bench/results.svg'" bench/plot.gp
#
# Each bar is one benchmark's score: ratio / goal for a goal of the form
# "at least" (throughput, concurrency), goal / ratio for one of the form
# "at most" (latency, chain, cache, memory, interpreter), so a bar that
# reaches the line at 1 means the goal holds, whichever its direction.
# The text on a bar is the measured figure and its goal (results.dat's
# last column).
if (!exists("datafile")) datafile = 'bench/results.dat'
if (!exists("outfile")) outfile = 'bench/results.svg'

set terminal svg size 1100,560 dynamic enhanced font "sans,11" background "white"
set output outfile
set title "rthunk against its peers: score = how far each goal is met (>= 1: met)"
set datafile separator "\t"
set style data histograms
set style fill solid 0.75 border -1
set boxwidth 0.7
set logscale y 10
set yrange [0.01:100]
set ylabel "score (log scale)"
set grid ytics
set xtics rotate by 30 right nomirror noenhanced
set bmargin 10
set lmargin 12
set key off
set arrow from graph 0, first 1 to graph 1, first 1 nohead lw 2 dt 2 lc rgb "#202020"

# the columns: label, ratio, goal, score, text
plot datafile using 0:4:($4 >= 1 ? 0x3a9a4a : 0xc8503c):xtic(1) with boxes lc rgb variable, \
     '' using 0:4:5 with labels offset 0,0.8 font ",9" noenhanced
