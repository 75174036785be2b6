from zsync_assets.cli import main

main()
