from seqkit.cli.root import main

main()
