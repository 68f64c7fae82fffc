from signals.cli import main

main()
