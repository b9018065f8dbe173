"""enforce/core"""
