# sum-loop — the sum of 0 .. 10^7-1 in a while loop: a tight loop
def main():
    i = 0
    acc = 0
    while i < 10000000:
        acc = acc + i
        i = i + 1
    print(acc)


main()
