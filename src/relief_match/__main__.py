from relief_match.cli import main

main()
